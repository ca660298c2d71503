"""Questions asked at the terminal when a command needs one more answer."""

import typer


def ask_yes_no_quit(question: str) -> str:
    """'y', 'n' or 'q'; asks again until the answer is one of them."""
    while True:
        answer = typer.prompt(question, default="n", show_default=False).strip().lower()
        if answer[:1] in ("y", "n", "q"):
            return answer[:1]


def ask_lost_reason() -> str:
    """A lost reason: a number from the usual ones, or any text."""
    from minicrm.services.deals.stages import LOST_REASONS

    choices = "  ".join(f"{n}) {r}" for n, r in enumerate(LOST_REASONS, start=1))
    answer = typer.prompt(f"Why was it lost? {choices}  (or type a reason)").strip()
    if answer.isdigit() and 1 <= int(answer) <= len(LOST_REASONS):
        return LOST_REASONS[int(answer) - 1]
    return answer

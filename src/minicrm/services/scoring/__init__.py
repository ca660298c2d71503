"""Lead scores from the shop owner's rules (SPEC §3), and the history model.

rules.py tokenizes and parses a condition into the tree of rule_tree.py;
rulebook.py reads the TOML rules file into a checked RuleSet; figures.py
computes the facts rules read (interactions_30d, days_in_stage, …) in SQL;
scores.py scores deals and caches the scores; freshness.py recomputes them
all on the first read of a new day (the day is kept by records/score_day.py);
history.py is the naive-Bayes model learned from won and lost deals,
examples.py the rows it learns from, with the backtest.
"""

from minicrm.services import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "scores": (
        "current_rules", "explain", "explain_deal", "load_rules",
        "recompute_scores", "refresh_deal_scores", "refresh_score", "rules_text", "score_deal",
        "top_scores",
    ),
    "freshness": ("ensure_fresh_scores",),
    "rulebook": ("DEFAULT_RULES", "Rule", "RuleSet", "parse_rules"),
    "rules": ("RuleError", "parse_expression"),
    "figures": ("ContactFacts", "DealFacts", "facts_for"),
    "history": ("backtest", "history_scores"),
})  # fmt: skip

"""The PostgreSQL server the tests may use (CRM_TEST_DATABASE_URL), for tests
that make databases of their own."""

from conftest import TEST_SERVER_URL


def server_url() -> str:
    assert TEST_SERVER_URL, "postgres_only tests run with CRM_TEST_DATABASE_URL set"
    return TEST_SERVER_URL

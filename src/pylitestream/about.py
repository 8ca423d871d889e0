"""The release number, in a module of its own so the API can name it without importing the
package root (which imports the API)."""

__version__ = "0.1.0"

# The documentation site (mkdocs.yml, published by Read the Docs). Messages that point at a page
# use docs(); tests/docs checks that each such page and anchor exists.
DOCS_URL = "https://py-litestream.readthedocs.io/en/latest/"


def docs(page: str) -> str:
    """The URL of `page` ("verify/#holes-in-a-replica") on the documentation site."""
    return DOCS_URL + page

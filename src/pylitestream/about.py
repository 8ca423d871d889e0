"""The release number, in a module of its own so the API can name it without importing the
package root (which imports the API)."""

__version__ = "0.1.0"

"""auth0-workos-wizard: move a company's users from Auth0 to WorkOS, one gated step at a time."""

__version__ = "0.1.0"

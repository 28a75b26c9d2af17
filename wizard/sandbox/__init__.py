"""Local emulators of the WorkOS API and the Auth0 Management API, plus a demo tenant."""

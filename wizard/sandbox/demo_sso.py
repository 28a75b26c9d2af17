"""The demo tenant's enterprise connections, with the `options` Auth0 returns under
`read:connections_options`: one of every case the Enterprise SSO step must handle.

Kept apart from `demo.py` (and seeded by its own random stream) so the rest of the demo tenant keeps
its ids. The certificates are real self-signed X.509 certificates (their private keys were thrown
away); Auth0 stores `signingCert` as base64 of the PEM, PEM itself appears too, and PingFederate
answers carry only `cert` (here base64 DER, the PEM body).
"""

from __future__ import annotations

import base64
import random
from typing import Any

ACME_IDP_CERT = """-----BEGIN CERTIFICATE-----
MIIC7jCCAdagAwIBAgIUPJoQFAGCiXie1rtFrJlxUAjjrQ8wDQYJKoZIhvcNAQEL
BQAwMTEZMBcGA1UEAwwQaWRwLmFjbWUuZXhhbXBsZTEUMBIGA1UECgwLU2FuZGJv
eCBJZFAwHhcNMjQwMTAxMDAwMDAwWhcNMzQwMTAxMDAwMDAwWjAxMRkwFwYDVQQD
DBBpZHAuYWNtZS5leGFtcGxlMRQwEgYDVQQKDAtTYW5kYm94IElkUDCCASIwDQYJ
KoZIhvcNAQEBBQADggEPADCCAQoCggEBAMpIrx2hQOweIwefOwWhbPg4DMlA5ZMm
FZTISGjluVy5nJmu97fnV9/w4UJL6nawEf9VKkG1DKrz9AU7DeYJG0cl4RBRlLT9
R7bTKBUimObsSSPBJMAwbDuWXIHjuyOig4x19uIQoxTjxrXNGF2HzzD/VjMpS2tZ
suMtiHJiTKzPgGBCPbfexJk+05+wxBhOMudCuHjqvj7BcqlNXh1297uLcdu5FdvM
SPnHrmI4C4hkQTdiWUVZNQKYolgCLs068sCjhixCG51ZlYqhw5qDl9y/ONiXkisM
knkNV+j389v+HG7oWZJOL1NTNKl5gxzFWMi5UD8Jlx2HhJChDEZomQECAwEAATAN
BgkqhkiG9w0BAQsFAAOCAQEASxR0d1nsQL0yg5+NEaQN63nSNJ14a8maZt9YOd2z
IDJpmEd0oyTTfdRBF7vshOlokbk6zBoXDDfU/5IW1+VxIwHQC/C1M7pqvKF8C/1c
q81lPh3J7XXrgRViLjs4xTijQ9vam1XiB82o26NhyviTnQFoS46GRlQ22T2W60//
MMg3WaQakXCDdIZ9FYkiVw+SRk7eTmV58RXDAmUto/GnXqOICMZznWU/8coiQcG3
1kDeK8gK9ZPvArDY2UrAa0Pre+pYagPmkaN86+B3XCjPz4h4tOD9MWmDpXabXJqD
n2G9CQ67PNpkB3cfuv6eTqGEQqwsmH9R1eMBSCN2rBE2Hw==
-----END CERTIFICATE-----
"""

PARTNERS_IDP_CERT = """-----BEGIN CERTIFICATE-----
MIIC9jCCAd6gAwIBAgIUC8R1A0O3lIooH7OLk4Oh50xS39wwDQYJKoZIhvcNAQEL
BQAwNTEdMBsGA1UEAwwUc3NvLnBhcnRuZXJzLmV4YW1wbGUxFDASBgNVBAoMC1Nh
bmRib3ggSWRQMB4XDTI0MDEwMTAwMDAwMFoXDTM0MDEwMTAwMDAwMFowNTEdMBsG
A1UEAwwUc3NvLnBhcnRuZXJzLmV4YW1wbGUxFDASBgNVBAoMC1NhbmRib3ggSWRQ
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqUY6YybghPv/Rk+AbRoQ
j1GNb5pkNbaG0UWiwgfNEVoxC+YdGVSbVrhM+CcZnVHxpetDRZUqngelHbVsP45m
sZrCdVaUDu4gUST7drLh24oQkQm/YBMr70v56CYsGhhdgu0gev4Qbrd/NoRFTDaB
2quPFBc089wA6Gq9IrNCAj8EGouZFiTdlcw5cmTpbzyBRi0PqJtc7GJ5RoMN/5HE
rLa1Uchx/fEe14DQPgUufAg5ycWjGSzRKKzetSMrJ7AKHtvEYaDOGJMgsgMvLR/N
OY3MJpEsQmXyYMB3pYqUcf6bS4P4RPXJlBYlQ1gZUhJKLL7DSswiM5TfeoYT6SwZ
TQIDAQABMA0GCSqGSIb3DQEBCwUAA4IBAQBDiFTKhTHY1Z6oojEHVPUtsXcnuqAg
u9onfmSbWNzJK9k5eJnMKuJf1tSXIDyTmc2A1xQh7fUJtuvTJJdLSLBXoEDxQ3h2
Ig7O/uPdkl6aKhi/BrJEv6AbTihZEy4OW/LMRg6SznPWPGMQx3cPTGx5yQzkYT6X
qgRahwRSolFuKDMXUr/7pA+aGdVA7wTAqXCJ19Xf1XGs+RxZc3K+MGqzsGAlXz3U
HhLwFGJJTHkALXtL0CkPV+1U7q/BNxK8Odv/no4Q6Y1yJauEPrnZ5zvhRLSRw+yA
hbYA/r+NXGduj0CqGO3W3n13Hi/k7MEizdL/JBeoM7LqMcQEGZgVL4u3
-----END CERTIFICATE-----
"""


def pem_body(pem: str) -> str:
    """The base64 DER between the PEM armour lines (what PingFederate's `cert` carries)."""
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def add_enterprise_connections(seed: int, connections: list[dict[str, Any]],
                               org_connections: dict[str, list[dict[str, Any]]],
                               organizations: list[dict[str, Any]]) -> dict[str, str]:
    """Fill the existing SAML connections' options and append the other enterprise connections;
    returns case name -> connection name (for tests). Mutates the given lists in place."""
    rng = random.Random(seed * 7919 + 13)

    def conn_id() -> str:
        return "con_" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                                for _ in range(16))

    def secret() -> str:
        return "demo-oidc-secret-" + "".join(rng.choice("abcdef0123456789") for _ in range(24))

    by_name = {c["name"]: c for c in connections}
    acme = by_name["acme-saml"]  # complete SAML: sign-in URL + base64-of-PEM certificate
    acme["options"].update({
        "signingCert": base64.b64encode(ACME_IDP_CERT.encode()).decode(),
        "signOutEndpoint": "https://idp.acme.example/slo/saml",
        "signSAMLRequest": False, "signatureAlgorithm": "rsa-sha256", "digestAlgorithm": "sha256",
        "protocolBinding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
        "fieldsMap": {"email": "mail", "given_name": "givenName", "family_name": "sn",
                      "groups": ["memberOf", "groups"], "department": "dept"},
        "tenant_domain": "acme.example",
    })
    # globex-saml stays incomplete: a sign-in URL but no certificate and no metadata

    extra: list[dict[str, Any]] = [
        {"name": "partners-saml", "display_name": "Partners SSO", "strategy": "samlp",
         "options": {"signInEndpoint": "https://sso.partners.example/saml2/idp/SSOService",
                     "signingCert": PARTNERS_IDP_CERT,  # PEM as-is (some tenants store it so)
                     "entityId": "urn:partners:auth0-sp",  # Auth0's own SP entity id override
                     "fieldsMap": {"email": "email"}, "domain_aliases": []}},
        {"name": "contoso-oidc", "display_name": "Contoso Okta (OIDC)", "strategy": "oidc",
         "options": {"type": "back_channel", "client_id": "contoso-client-id", "client_secret": secret(),
                     "discovery_url": "https://login.contoso.example/.well-known/openid-configuration",
                     "issuer": "https://login.contoso.example", "scope": "openid profile email",
                     "domain_aliases": ["contoso.example"]}},
        {"name": "fabrikam-oidc", "display_name": "Fabrikam OIDC", "strategy": "oidc",
         "options": {"type": "back_channel", "client_id": "fabrikam-client-id",  # no secret returned
                     "issuer": "https://id.fabrikam.example", "token_endpoint_auth_method": "client_secret_post",
                     "domain_aliases": ["fabrikam.example"]}},
        {"name": "northwind-azure", "display_name": "Northwind Entra ID", "strategy": "waad",
         "options": {"client_id": "11111111-2222-3333-4444-555555555555", "client_secret": secret(),
                     "tenant_domain": "northwind.example", "waad_protocol": "openid-connect",
                     "identity_api": "microsoft-identity-platform-v2.0", "useCommonEndpoint": False,
                     "domain_aliases": ["northwind.example"]}},
        {"name": "hooli-google", "display_name": "Hooli Google Workspace", "strategy": "google-apps",
         "options": {"client_id": "hooli.apps.googleusercontent.example", "client_secret": secret(),
                     "domain": "hooli.example", "tenant_domain": "hooli.example",
                     "domain_aliases": ["hooli.example"]}},
        {"name": "globex-adfs", "display_name": "Globex legacy ADFS", "strategy": "adfs",
         "options": {"adfs_server": "https://adfs.globex-legacy.example/FederationMetadata/2007-06/"
                                    "FederationMetadata.xml",
                     "thumbprints": ["3b1a8c9e5d7f2a4b6c8d0e1f2a3b4c5d6e7f8a9b"],
                     "domain_aliases": ["globex-legacy.example"]}},
        {"name": "umbrella-ping", "display_name": "Umbrella PingFederate", "strategy": "pingfederate",
         "options": {"pingFederateBaseUrl": "https://ping.umbrella-labs.example",
                     "cert": pem_body(ACME_IDP_CERT),  # PingFederate: only `cert`, base64 DER
                     "domain_aliases": ["umbrella-labs.example"]}},
    ]
    for c in extra:
        c["id"] = conn_id()
        c.update({"realms": [c["name"]], "is_domain_connection": False})
        connections.append(c)
    # the partners connection is enabled for two organizations
    by_org = {o["name"]: o["id"] for o in organizations}
    partners = next(c for c in extra if c["name"] == "partners-saml")
    for org_name in ("initech", "umbrella"):
        org_connections[by_org[org_name]].append(
            {"connection_id": partners["id"], "assign_membership_on_login": True, "show_as_button": True,
             "is_signup_enabled": False, "connection": {"name": partners["name"], "strategy": "samlp"}})
    return {"complete_saml": "acme-saml", "incomplete_saml": "globex-saml", "two_orgs": "partners-saml",
            "oidc_with_secret": "contoso-oidc", "oidc_without_secret": "fabrikam-oidc",
            "azure_oidc": "northwind-azure", "google_workspace": "hooli-google", "adfs": "globex-adfs",
            "pingfederate_cert": "umbrella-ping"}

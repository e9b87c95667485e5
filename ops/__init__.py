"""Operator commands, run from a clone of the repository and never deployed.

    python3 -m ops secrets   # store the app ID and app secret in Key Vault
    python3 -m ops consent   # partner admin consent: store the App+User refresh token

See cli.py for the commands and README.md (Deploying to Azure) for when to run them.
"""

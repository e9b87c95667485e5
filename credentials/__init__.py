"""The Partner Center credentials: Key Vault secrets, the token exchange, the rotation timer."""

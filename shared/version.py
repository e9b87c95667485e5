"""The version reported by the health route and sent as MS-PartnerCenter-Application."""

VERSION = "1.0.0"
APPLICATION_NAME = f"partner-password-reset/{VERSION}"

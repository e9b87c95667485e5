"""The password-reset feature: route, request and answer models, service, rules."""

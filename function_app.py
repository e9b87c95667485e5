"""Azure Functions entry point: the app and its blueprints, nothing else."""

import azure.functions as func

from reset_password.routes import bp as reset_password_bp
from reset_password.token_rotation import bp as token_rotation_bp
from shared.health import bp as health_bp
from shared.log import install_correlation_logging
from shared.startup import quiet_sdk_logging, report_settings_problems

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(reset_password_bp)
app.register_functions(health_bp)
app.register_functions(token_rotation_bp)

install_correlation_logging()
quiet_sdk_logging()
report_settings_problems()

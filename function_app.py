"""Azure Functions entry point: the app and its blueprints, nothing else.

What the functions need is built in `composition.py`, which also sets up logging and
reports bad settings once, when the first blueprint imports it.
"""

import azure.functions as func

import composition
from credentials.health_route import bp as credentials_health_bp
from credentials.rotation import bp as token_rotation_bp
from reset_password.routes import bp as reset_password_bp
from secret_links.routes import secret_links_blueprint
from shared.health import bp as health_bp

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(reset_password_bp)
app.register_functions(health_bp)
app.register_functions(credentials_health_bp)
app.register_functions(token_rotation_bp)
app.register_functions(secret_links_blueprint(composition.secret_links))

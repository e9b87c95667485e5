"""Azure Functions entry point: the app, its blueprints, and what each is handed.

The one place that joins the composition root (`composition.py`, which also sets up
logging and reports bad settings once, when imported) and the features: each blueprint
is made with the providers of its dependencies.
"""

import azure.functions as func

import composition
from credentials import daily_checks, health_route, rotation
from reset_batches import routes as batch_routes
from reset_password import routes as reset_routes
from secret_links.routes import secret_links_blueprint
from worker import liveness

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(reset_routes.blueprint(composition.reset_dependencies))
app.register_functions(liveness.blueprint())
app.register_functions(
    health_route.blueprint(composition.health_route_access, composition.credentials_health)
)
app.register_functions(rotation.blueprint(composition.credentials, composition.rotation_outcomes))
app.register_functions(
    daily_checks.blueprint(composition.credentials_health, composition.rotation_outcomes)
)
app.register_functions(secret_links_blueprint(composition.secret_links))
app.register_functions(batch_routes.blueprint(composition.batches))

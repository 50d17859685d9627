"""ponmodel.api: the FastAPI application and the ``ponmodel`` command line: the top layer."""

"""The HTTP entry point: the REST API's routers, the national platform's envelope,
the ASGI application that serves them and the pages.
"""

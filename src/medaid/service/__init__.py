"""The settlement service: use cases over the store (units of work) and the JSON API."""

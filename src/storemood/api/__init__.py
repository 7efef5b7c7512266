"""The web app of ``storemood serve``: REST API, dashboard and offline API docs (see :mod:`storemood.api.app`)."""

"""The JSON shapes digiden speaks: Pydantic models of the API's request and response bodies and
of the CLI's ``--json`` output. Pure: they import only the standard library, Pydantic and
``digiden.domain``; the web layer and the CLI build them from the services' views
(``Model.model_validate(view, from_attributes=True)``), so one entity is described once for both."""

"""Local API Gateway (REST APIs) for the embedded service.

REST APIs deployed in the control plane (moto) are served at
``http://127.0.0.1:<port>/restapis/<api_id>/<stage>/_user_request_/<path>``, where ``<port>`` is the
fast data-plane port (``components.apigateway-execution.port`` in the service health document,
``invoke_base_url`` there) or the control plane's own port (slower: through the WSGI server).
Lambda proxy integrations run through ``orchestrator.dataplane.lambdas``.

Component spec: ``orchestrator.dataplane.apigateway.component:factory`` (after the Lambda one).
"""

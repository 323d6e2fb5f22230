"""Local Lambda execution for the embedded service.

The control plane (moto) holds every function: code zip, handler, runtime, timeout, memory,
environment, reserved concurrency. This package runs that code: warm worker subprocesses per
function (:mod:`.worker_pool`), fed by the ``Invoke`` API (:mod:`.invoke_api`), API Gateway proxy
integrations (``orchestrator.dataplane.apigateway``) and SNS subscriptions (:mod:`.sns_delivery`).
Output goes to CloudWatch Logs ``/aws/lambda/<fn>`` and ``AWS/Lambda`` metrics in the same moto.

Component spec: ``orchestrator.dataplane.lambdas.component:factory``.
"""

from celery import shared_task


@shared_task(name="core.echo", ignore_result=False)
def echo(value: str) -> str:
    """Round-trip probe for operators and tests: `echo.delay("hi").get()` proves broker, worker and
    result backend all work."""
    return value

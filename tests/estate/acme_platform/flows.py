import prefect


class Flow(prefect.Flow):
    """Prefect 1's Flow with the company's options: who owns it, whether to skip overlapping runs."""

    def __init__(self, name, *args, code_owners=None, skip_if_running=False, **kwargs):
        self.code_owners = list(code_owners or [])
        self.skip_if_running = skip_if_running
        super().__init__(name, *args, **kwargs)

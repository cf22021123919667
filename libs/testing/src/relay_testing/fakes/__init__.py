"""Local fakes of the providers Relay talks to. None of them can be reached from our machines, so every
integration is tested against a fake that speaks the provider's documented contract."""

"""Errors raised by the test harness."""


class HarnessError(RuntimeError):
    """A control-plane component could not be built, started or reached."""


class BinariesUnavailable(HarnessError):
    """tools/build-k8s did not produce the binaries; the message carries its error output."""

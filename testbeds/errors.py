"""Error root for the test beds, under evgw's one root so `evgw demo` prints it without a trace."""

from evgw.errors import EvgwError


class ServerError(EvgwError):
    """A local server could not be found, set up, started or stopped; the message says why."""

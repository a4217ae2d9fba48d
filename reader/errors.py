"""The one exception the demo raises for input it cannot use.

Its message is one sentence for the person who sent the input (capital letter, full stop); the
page shows it as an error pop-up, the API returns it, and the command line prints it.
"""


class InputError(ValueError):
    """The input cannot be used; the message is one clear sentence to show to the user."""

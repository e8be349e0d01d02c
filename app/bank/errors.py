"""The bank's error vocabulary: each kind maps to one HTTP status and one user-facing sentence."""


class BankError(Exception):
    status = 500

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class InvalidInput(BankError):
    """Malformed or invalid input; always names the field (400)."""

    status = 400

    def __init__(self, field, problem):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class Unauthorized(BankError):
    status = 401


class Forbidden(BankError):
    status = 403


class NotFound(BankError):
    status = 404


class Conflict(BankError):
    """The request collides with existing data, such as a duplicate SSN id (409)."""

    status = 409


class RuleViolation(BankError):
    """A rule of the bank refuses the operation: insufficient funds, inactive account... (422)."""

    status = 422


class InsufficientFunds(RuleViolation):
    """The account holds less than the debit asks for (422)."""

    def __init__(self, acc_id, balance_cents, message):
        super().__init__(message)
        self.acc_id = acc_id
        self.balance_cents = balance_cents


class KeyReused(RuleViolation):
    """An Idempotency-Key (or a page's form key) already stands for a different request (422)."""


class TooManyAttempts(BankError):
    """Login locked after repeated failures (429)."""

    status = 429

    def __init__(self, message, retry_after_seconds):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds

"""What makes a staff password too easy to guess: the common passwords shipped with the app
(common-passwords.txt, Openwall's public-domain list as Debian's john-data ships it), the same
dressed up the way breached passwords usually are (capitals, digits or symbols around it, a few
letters written as digits), keyboard and alphabet runs, too few different characters, or the
username inside it."""
from functools import lru_cache
from pathlib import Path

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt")

_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t",
                       "+": "t", "9": "g", "8": "b"})
_RUNS = ("abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiopasdfghjklzxcvbnm", "qwertyuiop", "asdfghjkl",
         "zxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "1q2w3e4r5t6y7u8i9o0p", "qazwsxedcrfvtgbyhnujmikolp",
         "!@#$%^&*()")
_MIN_DISTINCT = 5


@lru_cache(maxsize=1)
def common_passwords():
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="ascii").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#!comment"))


def _core(password):
    """The word inside the decoration: "Password123!" -> "password"."""
    return password.lower().strip("0123456789!@#$%^&*()-_=+.,;:?~ ")


def _longest_run(password):
    """The longest stretch of the password that is a keyboard or alphabet run, either way round."""
    lowered = password.lower()
    longest = 0
    for run in _RUNS:
        for line in (run, run[::-1]):
            for start in range(len(lowered)):
                end = start + longest + 1
                while end <= len(lowered) and lowered[start:end] in line:
                    longest = end - start
                    end += 1
    return longest


def weakness(password, username=None):
    """Why this password is too easy to guess, or None. Never repeats the password."""
    common = common_passwords()
    lowered = password.lower()
    candidates = {lowered, _core(password), lowered.translate(_LEET), _core(password).translate(_LEET),
                  _core(lowered.translate(_LEET))}
    if candidates & common:
        return "is a common password (or one dressed up with capitals, digits or symbols); choose another"
    if len(set(lowered)) < _MIN_DISTINCT:
        return f"needs at least {_MIN_DISTINCT} different characters"
    if _longest_run(password) * 2 >= len(password):
        return "is mostly a keyboard or alphabet run; choose something less predictable"
    if username and len(username) >= 3 and username.lower() in lowered:
        return "must not contain the username"
    return None

"""`validator sandbox deploy --timeout`: how long the deploy waits for the platform to be healthy
(a scaled platform of thousands of pods needs more than the default five minutes). Bad values are
refused before anything is applied."""

from __future__ import annotations

import pytest

from validator.cli import main


@pytest.mark.parametrize("value", ["0", "-5", "ten"])
def test_a_timeout_that_is_not_a_positive_number_is_refused_naming_the_option(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["sandbox", "deploy", "testing", "--name", "no-such-sandbox", "--timeout", value])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --timeout: '{value}' is not a number of seconds above 0 (e.g. 900)" in err, err


def test_a_valid_timeout_reaches_the_sandbox_check(capsys: pytest.CaptureFixture[str]) -> None:
    """Parsed, the command goes on to look for the sandbox (none here: its own clear error)."""
    code = main(["sandbox", "deploy", "testing", "--name", "no-such-sandbox", "--timeout", "1200"])
    assert code != 0
    assert "no-such-sandbox" in capsys.readouterr().err

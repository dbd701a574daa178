import io

from imbcl.core.progress import bar, track


def test_off_a_terminal_one_line_per_step_of_percent_and_one_at_the_end():
    out = io.StringIO()  # not a terminal
    with bar(8, "runs", every=25.0, file=out) as b:
        for _ in range(8):
            b.update(1)
    lines = out.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "runs: 2/8 (25%)",
        "runs: 4/8 (50%)",
        "runs: 6/8 (75%)",
        "runs: 8/8 (100%)",
    ]


def test_a_nested_bar_says_only_its_end_and_a_disabled_one_nothing():
    out = io.StringIO()
    with bar(100, "steps", leave=False, file=out) as b:
        b.update(100)
    assert out.getvalue().startswith("steps: 100/100 (100%)") and out.getvalue().count("\n") == 1
    quiet = io.StringIO()
    with bar(5, "x", disable=True, file=quiet) as b:
        b.update(5)
    assert quiet.getvalue() == ""


def test_track_yields_every_item_in_order():
    out = io.StringIO()
    assert list(track([3, 1, 2], "items", file=out)) == [3, 1, 2]
    assert out.getvalue().splitlines()[-1].startswith("items: 3/3 (100%)")

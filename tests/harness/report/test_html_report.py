

def test_three_runs_each_against_the_first(small, tmp_path):
    data, a, b = small
    c = mcq_run(tmp_path / "runs", "third", data, pattern(30, 25, offset=2), encoder="c.pt", label="third")
    out, _ = write_report([load_run(a), load_run(b), load_run(c)], tmp_path / "r3.html", n_boot=100)
    page = parse_page(out)
    assert page.flips == expected_flips([a, b, c]) and len(page.flips) == 2
    want = expected_flips([a, b, c])
    flipped = {i for i, k in enumerate(want.values()) if k["forgotten"] + k["learned"]}
    assert flipped and page.cards

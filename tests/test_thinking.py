import random

from vtai.thinking import ThinkSplitter

TEXT = "<think>Let me think about it.</think>The answer is 42. <think>again</think>Done."


def run(chunks):
    s = ThinkSplitter()
    out = []
    for c in chunks:
        out += s.feed(c)
    out += s.flush()
    reasoning = "".join(t for k, t in out if k == "reasoning")
    text = "".join(t for k, t in out if k == "text")
    return reasoning, text


def test_split_whole():
    assert run([TEXT]) == ("Let me think about it.again", "The answer is 42. Done.")


def test_split_every_chunking():
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(TEXT)), rng.randint(1, 20)))
        chunks = [TEXT[a:b] for a, b in zip([0, *cuts], [*cuts, len(TEXT)], strict=True)]
        assert run(chunks) == ("Let me think about it.again", "The answer is 42. Done.")


def test_text_that_looks_like_a_tag_prefix_is_not_lost():
    assert run(["a <th", "is is text"]) == ("", "a <this is text")
    assert run(["x <"]) == ("", "x <")

"""The package docstring's example and the README's Python example, run as
doctests (the README is found when the tests run from a source tree).

The examples name their ring "shared_buffer_a"; the tests run them with a
name unique to the run instead, so that concurrent runs do not collide."""
import doctest
import os
import unittest

import shared_cbuff

try:
    from .util import ring_name
except ImportError:  # run as a script
    from util import ring_name

# The tests may run from a staged copy whose tests folder links to the
# source tree's (tests/python.test): the README is beside the real one.
HERE = os.path.dirname(os.path.realpath(__file__))
README = os.path.join(os.path.dirname(os.path.dirname(HERE)), "README.md")
# Under make check (tests/python.test sets SCB_TEST_TAG) the source tree is
# there: a missing README is then a failure, not a skip.
IN_MAKE_CHECK = bool(os.environ.get("SCB_TEST_TAG"))
EXAMPLE_NAME = "shared_buffer_a"


def run_examples(test, text, source):
    """Runs the doctest examples of `text`, with a unique ring name."""
    test.assertIn(EXAMPLE_NAME, text, "%s: no example naming %s" % (source, EXAMPLE_NAME))
    text = text.replace(EXAMPLE_NAME, ring_name("doc"))
    parser = doctest.DocTestParser()
    dt = parser.get_doctest(text, {}, source, source, 0)
    test.assertGreater(len(dt.examples), 0, "%s has no doctest example" % source)
    runner = doctest.DocTestRunner(verbose=False)
    runner.run(dt)
    result = runner.summarize(verbose=False)
    test.assertEqual(result.failed, 0, "%s: %d doctest example(s) failed" % (source, result.failed))
    return result


class DocTests(unittest.TestCase):
    def test_package_docstring(self):
        run_examples(self, shared_cbuff.__doc__, "shared_cbuff.__doc__")

    @unittest.skipUnless(os.path.exists(README) or IN_MAKE_CHECK,
                         "README.md not found (not a source tree)")
    def test_readme(self):
        with open(README, encoding="utf-8") as f:
            text = f.read()
        # Only the Python section: the rest is C.
        start = text.find("## Python")
        self.assertGreaterEqual(start, 0, "README.md has no Python section")
        end = text.find("\n## ", start + 1)
        run_examples(self, text[start : end if end > 0 else len(text)], "README.md")


if __name__ == "__main__":
    unittest.main()

"""es_figure: one figure binary of experiments/ with its golden and
behavioural test (experiments/figure_test.h)."""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_test")

def es_figure(
        name,
        deps,
        goldens = {},
        tolerance = "exact",
        data = "none",
        test_srcs = [],
        extra_flags = [],
        size = "small"):
    """Declares cc_binary `name` (from name.cc) and cc_test `name`_test.

    Args:
      name: the binary, e.g. "fig5_influence" (also its output file stem).
      deps: the binary's dependencies (the framework: //experiments:figure).
      goldens: output suffix ("" = the trace, "_grid", ...) -> golden CSV of
        the --quick run (testdata/<name>_quick<suffix>.csv).
      tolerance: "exact" (double-precision figures: same bits everywhere) or
        "onednn" (float32 on oneDNN: 1e-5 relative).
      data: "none", "mnist" ($ES_SINGLE_DATA_DIR/mnist) or "fashion_mnist"
        (Debian's dataset-fashion-mnist), "ptb", "yacht" or "mujoco-swimmer"
        ($ES_SINGLE_DATA_DIR/<name>): missing data skips outside CI and
        fails with ES_CI=1.
      test_srcs: behavioural tests (TEST_F(FigureTest, ...)).
      extra_flags: flags added to the test's --quick run.
      size: the test's size.
    """
    cc_binary(
        name = name,
        srcs = [name + ".cc"],
        deps = deps,
    )
    cc_test(
        name = name + "_test",
        size = size,
        srcs = test_srcs,
        args = [
            "--binary=$(rootpath :%s)" % name,
            "--tolerance=" + tolerance,
            "--data=" + data,
        ] + ["--golden=%s:$(rootpath %s)" % (suffix, path) for suffix, path in goldens.items()] +
        ["--extra_flag=" + f for f in extra_flags],
        data = [":" + name] + goldens.values(),
        deps = ["//experiments:figure_test"],
    )

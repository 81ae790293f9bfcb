"""es_figure: one figure binary of experiments/ with its golden and
behavioural test (experiments/figure_test.h)."""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")

def es_figure(
        name,
        deps,
        goldens = {},
        tolerance = "exact",
        data = "none",
        test_srcs = [],
        extra_flags = [],
        mpi_tolerance = "exact",
        size = "medium"):
    """Declares cc_binaries `name` and `name`_mpi (from name.cc) and
    cc_test `name`_test.

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
      mpi_tolerance: how the `name`_mpi run under `mpirun -np 2` must match
        the one-process run: "exact" (byte-identical CSVs: every figure whose
        per-particle arithmetic does not depend on which particles share a
        kernel call) or "onednn" (1e-5 relative; the ResNet figures, whose
        oneDNN convolutions block by batch size; docs/scaling.md).
      size: the test's size.
    """
    # The figure's code is compiled once and linked twice: `name` runs as
    # one process; `name`_mpi also links the MPI layer and, started by
    # mpirun or srun, spreads every ES estimator's pairs over the ranks with
    # outputs identical to `name` (docs/scaling.md).
    cc_library(
        name = name + "_main",
        srcs = [name + ".cc"],
        deps = deps,
        alwayslink = True,
    )
    cc_binary(
        name = name,
        deps = [":" + name + "_main"],
    )
    cc_binary(
        name = name + "_mpi",
        deps = [
            ":" + name + "_main",
            "//estimators/mpi:mpi_process_group",
        ],
    )
    cc_test(
        name = name + "_test",
        size = size,
        srcs = test_srcs,
        args = [
            "--binary=$(rootpath :%s)" % name,
            "--mpi_binary=$(rootpath :%s_mpi)" % name,
            "--mpi_tolerance=" + mpi_tolerance,
            "--tolerance=" + tolerance,
            "--data=" + data,
        ] + ["--golden=%s:$(rootpath %s)" % (suffix, path) for suffix, path in goldens.items()] +
        ["--extra_flag=" + f for f in extra_flags],
        data = [":" + name, ":" + name + "_mpi"] + goldens.values(),
        deps = ["//experiments:figure_test"],
    )

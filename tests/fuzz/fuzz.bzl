"""fuzz_target: one libFuzzer entry point, its seed corpus, its gcc replay test and its fuzzer.

    fuzz_target(
        name = "scope_fuzz",          # the source is scope_fuzz.cc
        corpora = ["scope"],          # seed folders under corpus/
        deps = ["//realm:scope"],
    )

defines
  - `<corpus>_corpus`: a filegroup per seed folder (corpus/<corpus>/*);
  - `<name>_replay_test`: the cc_test that replays the seeds and deterministic mutations of them
    with :fuzz_driver (gcc, every `bazel test`);
  - `<name>_fuzzer` (tag "manual", built by scripts/fuzz.sh): the same source as a libFuzzer
    binary when built with `--config=fuzz` (.bazelrc: clang, ASan + UBSan, coverage
    instrumentation); without that config it links :fuzz_driver instead, so it still builds;
  - `<name>_fuzzer_manifest`: `<name>_fuzzer.manifest`, what scripts/fuzz.sh needs to run it,
    one `key value` per line: `corpus <workspace-relative folder>` (one per seed folder),
    `dict <file>` when there is a dictionary, `max_len <bytes>`, and `arg <libFuzzer flag>` for
    each of `fuzzer_args` (flags this target needs, each with its reason in BUILD.bazel).
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_test")

def fuzz_target(
        name,
        corpora,
        deps,
        srcs = None,
        dict = None,
        max_len = 4096,
        fuzzer_args = [],
        size = "small"):
    srcs = srcs or [name + ".cc"]
    corpus_labels = []
    for corpus in corpora:
        native.filegroup(
            name = corpus + "_corpus",
            testonly = True,
            srcs = native.glob(["corpus/%s/*" % corpus]),
        )
        corpus_labels.append(":%s_corpus" % corpus)

    cc_test(
        name = name + "_replay_test",
        size = size,
        srcs = srcs,
        args = ["$(rootpaths %s)" % label for label in corpus_labels],
        data = corpus_labels,
        deps = deps + [":fuzz_driver"],
    )

    cc_binary(
        name = name + "_fuzzer",
        testonly = True,
        srcs = srcs,
        linkopts = select({
            ":libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        tags = ["manual"],
        deps = deps + select({
            ":libfuzzer": [],
            "//conditions:default": [":fuzz_driver"],
        }),
    )

    package = native.package_name()
    lines = ["corpus %s/corpus/%s" % (package, corpus) for corpus in corpora]
    if dict:
        lines.append("dict %s/%s" % (package, dict))
    lines.append("max_len %d" % max_len)
    lines += ["arg %s" % arg for arg in fuzzer_args]
    native.genrule(
        name = name + "_fuzzer_manifest",
        testonly = True,
        outs = [name + "_fuzzer.manifest"],
        cmd = "printf '%%s\\n' %s > $@" % " ".join(["'%s'" % line for line in lines]),
        tags = ["manual"],
    )

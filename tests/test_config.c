/* test_config.c: the YAML experiment loader (llx/config.h): locations,
 * anchors and merge keys, extends, vars and expressions, --set, typed reads,
 * error messages with file:line:col, suggestions and the YAML round trip. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "llx/config.h"

#define FIXTURE(name) LLX_SOURCE_DIR "/tests/fixtures/yaml/" name

/* Parses text; NULL (and the message printed) on failure. */
static llx_doc *parse(const char *text, const char *const *sets, int n_sets)
{
    llx_doc *d = NULL;
    llx_error err = {0};
    if (llx_doc_parse("exp.yaml", text, sets, n_sets, &d, &err) != LLX_OK)
        fprintf(stderr, "unexpected error: %s\n", err.msg);
    return d;
}

/* Parses text that must fail; returns the message in err. */
static llx_status parse_fail(const char *text, const char *const *sets, int n_sets,
                             llx_error *err)
{
    llx_doc *d = NULL;
    llx_status st = llx_doc_parse("exp.yaml", text, sets, n_sets, &d, err);
    CHECK(st != LLX_OK);
    CHECK(d == NULL);
    llx_doc_free(d);
    return st;
}

/* Scalar text at a dotted path of map keys. */
static const char *str_at(const llx_doc *d, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const llx_cfg *c = llx_doc_root(d);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        c = llx_cfg_get(c, k);
    return llx_cfg_str(c);
}

static bool str_is(const llx_doc *d, const char *path, const char *want)
{
    const char *got = str_at(d, path);
    if (got && !strcmp(got, want)) return true;
    fprintf(stderr, "  %s = '%s', want '%s'\n", path, got ? got : "(null)", want);
    return false;
}

static void test_parse_locations(void)
{
    llx_doc *d = parse("model:\n  type: llam\n  kernel: 3\n  list: [1, two]\n"
                       "empty:\nnull_word: null\nquoted: \"null\"\ntilde: ~\n",
                       NULL, 0);
    CHECK(d);
    if (!d) return;
    const llx_cfg *root = llx_doc_root(d), *model = llx_cfg_get(root, "model");
    CHECK(llx_cfg_kind_of(model) == LLX_CFG_MAP);
    CHECK(llx_cfg_len(root) == 5);
    CHECK(!strcmp(llx_cfg_key_at(root, 4), "tilde")); /* insertion order */
    const llx_cfg *kernel = llx_cfg_get(model, "kernel");
    CHECK(!strcmp(llx_cfg_str(kernel), "3"));
    llx_cfg_loc l = llx_cfg_where(kernel);
    CHECK(!strcmp(l.file, "exp.yaml") && l.line == 3 && l.col == 11);
    l = llx_cfg_key_where(model, 1);
    CHECK(l.line == 3 && l.col == 3);
    const llx_cfg *list = llx_cfg_get(model, "list");
    CHECK(llx_cfg_kind_of(list) == LLX_CFG_SEQ && llx_cfg_len(list) == 2);
    CHECK(!strcmp(llx_cfg_str(llx_cfg_at(list, 1)), "two"));
    CHECK(llx_cfg_where(llx_cfg_at(list, 1)).col == 13);
    CHECK(llx_cfg_kind_of(llx_cfg_get(root, "empty")) == LLX_CFG_NULL);
    CHECK(llx_cfg_kind_of(llx_cfg_get(root, "null_word")) == LLX_CFG_NULL);
    CHECK(llx_cfg_kind_of(llx_cfg_get(root, "tilde")) == LLX_CFG_NULL);
    CHECK(str_is(d, "quoted", "null"));
    CHECK(llx_cfg_get(root, "missing") == NULL);
    char buf[64];
    CHECK(!strcmp(llx_cfg_loc_str(kernel, buf, sizeof buf), "exp.yaml:3:11: "));
    llx_doc_free(d);
}

static void test_anchors_merge(void)
{
    llx_doc *d = parse("defaults: &def {kernel: 3, stride: 1, act: relu}\n"
                       "extra: &ext {stride: 9, pad: 1}\n"
                       "conv1:\n  <<: *def\n  stride: 2\n"
                       "conv2:\n  <<: [*ext, *def]\n"
                       "copy: *def\n",
                       NULL, 0);
    CHECK(d);
    if (!d) return;
    CHECK(str_is(d, "conv1.kernel", "3"));
    CHECK(str_is(d, "conv1.stride", "2")); /* explicit key wins */
    CHECK(str_is(d, "conv2.stride", "9")); /* earlier merged map wins */
    CHECK(str_is(d, "conv2.pad", "1") && str_is(d, "conv2.act", "relu"));
    CHECK(str_is(d, "copy.act", "relu"));
    const llx_cfg *conv1 = llx_cfg_get(llx_doc_root(d), "conv1");
    CHECK(llx_cfg_len(conv1) == 3 && llx_cfg_get(conv1, "<<") == NULL);
    CHECK(llx_cfg_where(llx_cfg_get(llx_doc_root(d), "copy")).line == 8);
    llx_doc_free(d);

    llx_error err = {0};
    parse_fail("a: *nope\n", NULL, 0, &err);
    CHECK_CONTAINS(err.msg, "exp.yaml:1:4: unknown alias '*nope'");
    parse_fail("a: 1\nb: 2\na: 3\n", NULL, 0, &err);
    CHECK_CONTAINS(err.msg, "exp.yaml:3:1: duplicate key 'a'");
}

static void test_extends(void)
{
    llx_doc *d = NULL;
    llx_error err = {0};
    CHECK(llx_doc_load(FIXTURE("child.yaml"), NULL, 0, &d, &err) == LLX_OK);
    if (!d) return;
    CHECK(str_is(d, "model.type", "resnet"));
    CHECK(str_is(d, "model.width", "128")); /* child's var, base's use */
    CHECK(str_is(d, "train.epochs", "20") && str_is(d, "train.lr", "0.1"));
    CHECK(str_is(d, "train.optimizer.name", "adam"));
    CHECK(str_is(d, "train.optimizer.momentum", "0.9"));
    const llx_cfg *layers = llx_cfg_get(llx_cfg_get(llx_doc_root(d), "model"), "layers");
    CHECK(llx_cfg_len(layers) == 1 && !strcmp(llx_cfg_str(llx_cfg_at(layers, 0)), "3"));
    CHECK(llx_cfg_get(llx_doc_root(d), "extends") == NULL);
    CHECK_CONTAINS(llx_cfg_where(llx_cfg_get(llx_cfg_get(llx_doc_root(d), "model"), "type")).file,
                   "base.yaml");
    llx_doc_free(d);

    CHECK(llx_doc_load(FIXTURE("sub/deep.yaml"), NULL, 0, &d, &err) == LLX_OK);
    if (d) {
        CHECK(str_is(d, "train.lr", "0.01") && str_is(d, "train.batch", "32"));
        CHECK(str_is(d, "data.name", "cifar10") && str_is(d, "model.width", "128"));
    }
    llx_doc_free(d);

    CHECK(llx_doc_load(FIXTURE("cycle_a.yaml"), NULL, 0, &d, &err) != LLX_OK);
    CHECK_CONTAINS(err.msg, "cycle_b.yaml:1:10: extends: cycle: ");
    CHECK_CONTAINS(err.msg, "cycle_a.yaml -> ");
    CHECK(llx_doc_load(FIXTURE("missing.yaml"), NULL, 0, &d, &err) == LLX_ERR_IO);
    CHECK_CONTAINS(err.msg, "missing.yaml:1:10: extends: cannot read 'nothere.yaml': "
                            "No such file or directory");
    CHECK(llx_doc_load(FIXTURE("nope.yaml"), NULL, 0, &d, &err) == LLX_ERR_IO);
    CHECK_CONTAINS(err.msg, "nope.yaml");
}

static const char *const vars_text =
    "vars:\n"
    "  width: 64\n"
    "  depth: 3\n"
    "  half: ${width / 2}\n"
    "  attention: {type: se, kernel: 3}\n"
    "  name: net${width}\n"
    "model:\n"
    "  width: ${width}\n"
    "  hidden: ${ width * 2 + 1 }\n"
    "  ratio: ${(depth + 1) / 8}\n"
    "  floor: ${-7 // 2}\n"
    "  mod: ${-7 % 3}\n"
    "  lr: ${1e-3 * 2}\n"
    "  attn: ${attention}\n"
    "  kernel: ${attention.kernel}\n"
    "  label: ${name}_d${depth}_k${attention.kernel * 2}\n"
    "  literal: cost $${x}\n";

static void test_vars(void)
{
    llx_doc *d = parse(vars_text, NULL, 0);
    CHECK(d);
    if (!d) return;
    CHECK(str_is(d, "model.width", "64") && str_is(d, "model.hidden", "129"));
    CHECK(str_is(d, "vars.half", "32") && str_is(d, "model.ratio", "0.5"));
    CHECK(str_is(d, "model.floor", "-4") && str_is(d, "model.mod", "2"));
    CHECK(str_is(d, "model.lr", "0.002") && str_is(d, "model.kernel", "3"));
    CHECK(str_is(d, "model.attn.type", "se"));
    CHECK(str_is(d, "model.label", "net64_d3_k6"));
    CHECK(str_is(d, "model.literal", "cost ${x}"));
    const llx_cfg *attn = llx_cfg_get(llx_cfg_get(llx_doc_root(d), "model"), "attn");
    CHECK(llx_cfg_where(attn).line == 14 && llx_cfg_where(attn).col == 9); /* use site */
    llx_doc_free(d);

    llx_error err = {0};
    parse_fail("vars:\n  width: 4\nx:\n  y: ${widht * 2}\n", NULL, 0, &err);
    CHECK_CONTAINS(err.msg, "exp.yaml:4:6: unknown variable 'widht' in '${widht * 2}' "
                            "(did you mean 'width'?)");
    parse_fail("vars:\n  a: ${b}\n  b: ${a}\n", NULL, 0, &err);
    CHECK_CONTAINS(err.msg, "exp.yaml:3:6: variable cycle: a -> b -> a");
    parse_fail("vars:\n  m: {a: 1}\nx: pre${m}\n", NULL, 0, &err);
    CHECK_CONTAINS(err.msg, "exp.yaml:3:4: a mapping inside a string");
    parse_fail("vars:\n  a: 1\nx: ${a / 0}\n", NULL, 0, &err);
    CHECK_CONTAINS(err.msg, "exp.yaml:3:4: division by zero in '${a / 0}'");
    parse_fail("vars:\n  a: abc\nx: ${a + 1}\n", NULL, 0, &err);
    CHECK_CONTAINS(err.msg, "variable 'a' is not a number ('abc')");
}

static void test_sets(void)
{
    const char *sets[] = {"width=32", "attention={type: llam, kernel: 1}", "train.epochs=2",
                          "attention.kernel=5", "optim.lr=0.5"};
    llx_doc *d = parse(vars_text, sets, 4);
    CHECK(d);
    if (!d) return;
    CHECK(str_is(d, "model.width", "32") && str_is(d, "model.hidden", "65"));
    CHECK(str_is(d, "model.attn.type", "llam") && str_is(d, "model.kernel", "5"));
    CHECK(str_is(d, "train.epochs", "2"));
    const llx_cfg *epochs = llx_cfg_get(llx_cfg_get(llx_doc_root(d), "train"), "epochs");
    CHECK(!strcmp(llx_cfg_where(epochs).file, "--set") && llx_cfg_where(epochs).col == 14);
    llx_doc_free(d);

    d = parse("train:\n  epochs: 10\n  layers: [{k: 1}]\n", (const char *const[]){
                  "train.epochs=3", "train.layers.0.k=7", "optim.lr=0.5"}, 3);
    CHECK(d);
    if (d) CHECK(str_is(d, "train.epochs", "3") && str_is(d, "optim.lr", "0.5"));
    llx_doc_free(d);

    llx_error err = {0};
    const char *bad[] = {"attenton=se"};
    parse_fail(vars_text, bad, 1, &err);
    CHECK_CONTAINS(err.msg, "--set attenton=se: no variable 'attenton' (did you mean "
                            "'attention'?)");
    const char *bad2[] = {"model.width.x=1"};
    parse_fail(vars_text, bad2, 1, &err);
    CHECK_CONTAINS(err.msg, "'width' is not a mapping (exp.yaml:8:10: ");
    const char *bad3[] = {"noequals"};
    parse_fail(vars_text, bad3, 1, &err);
    CHECK_CONTAINS(err.msg, "--set noequals: expected name=value");
    const char *bad4[] = {"width=[1"};
    parse_fail(vars_text, bad4, 1, &err);
    CHECK_CONTAINS(err.msg, "--set width=[1: --set:");
    CHECK_CONTAINS(err.msg, "YAML syntax error: ");
}

static void test_typed(void)
{
    llx_doc *d = parse("n: 12\nneg: -3\nf: 3.5\nword: three\nlr: 1e-3\nb: Yes\noff: off\n"
                       "big: 99999999999999999999\nm: {a: 1}\ns: [1]\nz:\n",
                       NULL, 0);
    CHECK(d);
    if (!d) return;
    const llx_cfg *r = llx_doc_root(d);
    int64_t i = 0;
    double x = 0;
    bool b = false;
    llx_error err = {0};
    CHECK(llx_cfg_as_int(llx_cfg_get(r, "n"), "n", &i, &err) == LLX_OK && i == 12);
    CHECK(llx_cfg_as_int(llx_cfg_get(r, "neg"), "neg", &i, &err) == LLX_OK && i == -3);
    CHECK(llx_cfg_as_double(llx_cfg_get(r, "lr"), "lr", &x, &err) == LLX_OK && x == 1e-3);
    CHECK(llx_cfg_as_double(llx_cfg_get(r, "n"), "n", &x, &err) == LLX_OK && x == 12);
    CHECK(llx_cfg_as_bool(llx_cfg_get(r, "b"), "b", &b, &err) == LLX_OK && b);
    CHECK(llx_cfg_as_bool(llx_cfg_get(r, "off"), "off", &b, &err) == LLX_OK && !b);
    CHECK(llx_cfg_as_int(llx_cfg_get(r, "word"), "kernel", &i, &err) == LLX_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "exp.yaml:4:7: key 'kernel': expected an integer, got 'three'");
    CHECK(llx_cfg_as_int(llx_cfg_get(r, "f"), "f", &i, &err) != LLX_OK);
    CHECK_CONTAINS(err.msg, "exp.yaml:3:4: key 'f': expected an integer, got '3.5'");
    CHECK(llx_cfg_as_int(llx_cfg_get(r, "big"), "big", &i, &err) != LLX_OK);
    CHECK(llx_cfg_as_int(llx_cfg_get(r, "m"), "m", &i, &err) != LLX_OK);
    CHECK_CONTAINS(err.msg, "exp.yaml:9:4: key 'm': expected an integer, got a mapping");
    CHECK(llx_cfg_as_double(llx_cfg_get(r, "word"), "lr", &x, &err) != LLX_OK);
    CHECK_CONTAINS(err.msg, "exp.yaml:4:7: key 'lr': expected a number, got 'three'");
    CHECK(llx_cfg_as_double(llx_cfg_get(r, "s"), "s", &x, &err) != LLX_OK);
    CHECK_CONTAINS(err.msg, "key 's': expected a number, got a sequence");
    CHECK(llx_cfg_as_bool(llx_cfg_get(r, "n"), "flag", &b, &err) != LLX_OK);
    CHECK_CONTAINS(err.msg, "exp.yaml:1:4: key 'flag': expected a boolean");
    CHECK(llx_cfg_as_int(llx_cfg_get(r, "z"), "z", &i, &err) != LLX_OK);
    CHECK_CONTAINS(err.msg, "exp.yaml:11:3: key 'z': expected an integer, got null");
    CHECK(llx_cfg_as_int(NULL, "gone", &i, &err) != LLX_OK);
    CHECK_CONTAINS(err.msg, "key 'gone'");
    llx_doc_free(d);
}

static void test_syntax_errors(void)
{
    llx_doc *d = NULL;
    llx_error err = {0};
    CHECK(llx_doc_load(FIXTURE("bad_indent.yaml"), NULL, 0, &d, &err) == LLX_ERR_PARSE);
    CHECK_CONTAINS(err.msg, "bad_indent.yaml:3:2: YAML syntax error: did not find expected key "
                            "(while parsing a block mapping at line 1)");
    parse_fail("model:\n  type: resnet\n    width: 3\n", NULL, 0, &err);
    CHECK_CONTAINS(err.msg, "exp.yaml:3:10: YAML syntax error: mapping values are not allowed");
    parse_fail("a: [1, 2\nb: 3\n", NULL, 0, &err);
    CHECK_CONTAINS(err.msg, "exp.yaml:");
    CHECK_CONTAINS(err.msg, "YAML syntax error: ");
    parse_fail("a:\n\tb: 1\n", NULL, 0, &err);
    CHECK_CONTAINS(err.msg, "exp.yaml:2:1: YAML syntax error: ");
}

static void test_suggest(void)
{
    const char *const names[] = {"width", "depth", "attention", NULL};
    CHECK(!strcmp(llx_suggest("widht", names), "width"));
    CHECK(!strcmp(llx_suggest("attenton", names), "attention"));
    CHECK(!strcmp(llx_suggest("dept", names), "depth"));
    CHECK(llx_suggest("kernel", names) == NULL);
    CHECK(llx_suggest("x", (const char *const[]){NULL}) == NULL);
}

static bool same_tree(const llx_cfg *a, const llx_cfg *b)
{
    if (llx_cfg_kind_of(a) != llx_cfg_kind_of(b) || llx_cfg_len(a) != llx_cfg_len(b)) return false;
    if (llx_cfg_kind_of(a) == LLX_CFG_SCALAR) return !strcmp(llx_cfg_str(a), llx_cfg_str(b));
    for (size_t i = 0; i < llx_cfg_len(a); i++) {
        if (llx_cfg_kind_of(a) == LLX_CFG_MAP && strcmp(llx_cfg_key_at(a, i), llx_cfg_key_at(b, i)))
            return false;
        if (!same_tree(llx_cfg_at(a, i), llx_cfg_at(b, i))) return false;
    }
    return true;
}

static void test_round_trip(void)
{
    llx_doc *d = parse(vars_text, NULL, 0);
    CHECK(d);
    if (!d) return;
    char *text = llx_doc_to_yaml(d);
    CHECK(text != NULL);
    llx_doc *back = text ? parse(text, NULL, 0) : NULL;
    CHECK(back && same_tree(llx_doc_root(d), llx_doc_root(back)));
    CHECK_CONTAINS(text, "  attn:\n    type: se\n");
    llx_doc_free(back);
    free(text);
    llx_doc_free(d);

    d = parse("q: \"null\"\ne: ''\nn: ~\nk: {'<<': 1}\nl: []\nm: {}\nu: \"caf\xc3\xa9: x\"\n",
              NULL, 0);
    text = d ? llx_doc_to_yaml(d) : NULL;
    back = text ? parse(text, NULL, 0) : NULL;
    CHECK(back && same_tree(llx_doc_root(d), llx_doc_root(back)));
    llx_doc_free(back);
    free(text);
    llx_doc_free(d);
}

int main(void)
{
    RUN(test_parse_locations);
    RUN(test_anchors_merge);
    RUN(test_extends);
    RUN(test_vars);
    RUN(test_sets);
    RUN(test_typed);
    RUN(test_syntax_errors);
    RUN(test_suggest);
    RUN(test_round_trip);
    return check_report();
}

/*
 * A QEMU TCG plugin that counts the guest instructions the firmware executes, for
 * bench/firmware-insns.sh. QEMU's DWT cycle counter is not emulated, and Debian's qemu-system-arm
 * ships no example plugins (no libinsn.so), so this is a minimal one of our own, written against
 * the stable plugin API (QEMU >= 4.2; checked with 7.2).
 *
 * Arguments (-plugin ./libinsncount.so,marks=ADDR:ADDR...,symbols=FILE):
 *   marks    colon-separated hexadecimal code addresses; each time one executes, the plugin
 *            prints "mark ADDR COUNT" (COUNT = instructions executed so far) to QEMU's log
 *            (stderr unless -D FILE).
 *   symbols  a file of "ADDR SIZE NAME" lines (hex, from llvm-nm --print-size); at exit the
 *            plugin prints "symbol COUNT NAME" for every symbol that executed, and "total COUNT".
 *   profile  START:END (hex): also count each instruction in [START, END) and print
 *            "pc ADDR COUNT" at exit (a flat profile of one function, for optimization work).
 *
 * Counting: every translated block adds its instruction count to the total and to the counter of
 * the symbol each of its instructions belongs to, inline (no callback per instruction). A block
 * that exits early (an exception) is counted whole: the error is a few instructions per
 * exception. A mark's count includes its own translation block (the marker functions are two or
 * three instructions long, so differences of marks are exact to a few instructions).
 *
 * Build: gcc -O2 -shared -fPIC -o libinsncount.so bench/qemu-insn-count.c
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The subset of <qemu-plugin.h> (API version 1) used here; Debian does not install the header. */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int, void *);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t, void *);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, qemu_plugin_vcpu_tb_trans_cb_t);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *, enum qemu_plugin_op,
                                              void *, uint64_t);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *, enum qemu_plugin_op,
                                                void *, uint64_t);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *,
                                            qemu_plugin_vcpu_udata_cb_t,
                                            enum qemu_plugin_cb_flags, void *);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, qemu_plugin_udata_cb_t, void *);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);
void qemu_plugin_outs(const char *);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define MAX_MARKS 32
#define MAX_SYMBOLS 8192

struct symbol {
    uint64_t start, end;
    uint64_t count;
    char name[160];
};

static uint64_t total;
static uint64_t marks[MAX_MARKS];
static size_t n_marks;
static struct symbol *symbols;
static size_t n_symbols;
static uint64_t profile_start, profile_end;
static uint64_t *profile;

static int by_start(const void *a, const void *b)
{
    const struct symbol *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* The symbol containing addr, or NULL (binary search; symbols sorted, overlaps resolved first). */
static struct symbol *find(uint64_t addr)
{
    size_t lo = 0, hi = n_symbols;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (symbols[mid].end <= addr) {
            lo = mid + 1;
        } else if (symbols[mid].start > addr) {
            hi = mid;
        } else {
            return &symbols[mid];
        }
    }
    return NULL;
}

static void on_mark(unsigned int vcpu, void *udata)
{
    char line[96];
    (void)vcpu;
    snprintf(line, sizeof line, "mark 0x%" PRIx64 " %" PRIu64 "\n", (uint64_t)(uintptr_t)udata,
             total);
    qemu_plugin_outs(line);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    struct symbol *current = NULL;
    uint64_t run = 0;
    (void)id;
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &total, n);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        for (size_t m = 0; m < n_marks; m++) {
            if (marks[m] == pc) {
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS,
                                                       (void *)(uintptr_t)pc);
            }
        }
        if (profile != NULL && pc >= profile_start && pc < profile_end) {
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                                       &profile[(pc - profile_start) / 2], 1);
        }
        struct symbol *s = find(pc);
        if (s != current) {
            if (current != NULL && run > 0) {
                qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
                                                         &current->count, run);
            }
            current = s;
            run = 0;
        }
        run++;
    }
    if (current != NULL && run > 0) {
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &current->count,
                                                 run);
    }
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
    char line[256];
    (void)id;
    (void)udata;
    for (size_t i = 0; i < n_symbols; i++) {
        if (symbols[i].count > 0) {
            snprintf(line, sizeof line, "symbol %" PRIu64 " %s\n", symbols[i].count,
                     symbols[i].name);
            qemu_plugin_outs(line);
        }
    }
    for (uint64_t pc = profile_start; profile != NULL && pc < profile_end; pc += 2) {
        uint64_t n = profile[(pc - profile_start) / 2];
        if (n > 0) {
            snprintf(line, sizeof line, "pc 0x%" PRIx64 " %" PRIu64 "\n", pc, n);
            qemu_plugin_outs(line);
        }
    }
    snprintf(line, sizeof line, "total %" PRIu64 "\n", total);
    qemu_plugin_outs(line);
}

static void read_symbols(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    if (f == NULL) {
        perror(path);
        return;
    }
    symbols = calloc(MAX_SYMBOLS, sizeof *symbols);
    while (symbols != NULL && n_symbols < MAX_SYMBOLS && fgets(line, sizeof line, f) != NULL) {
        uint64_t start, size;
        char name[160];
        if (sscanf(line, "%" SCNx64 " %" SCNx64 " %159[^\n]", &start, &size, name) == 3 &&
            size > 0) {
            struct symbol *s = &symbols[n_symbols++];
            s->start = start & ~(uint64_t)1; /* Thumb symbols carry bit 0 */
            s->end = s->start + size;
            memcpy(s->name, name, sizeof s->name);
        }
    }
    fclose(f);
    qsort(symbols, n_symbols, sizeof *symbols, by_start);
    /* Clip overlaps so that the binary search sees disjoint ranges. */
    for (size_t i = 0; i + 1 < n_symbols; i++) {
        if (symbols[i].end > symbols[i + 1].start) {
            symbols[i].end = symbols[i + 1].start;
        }
    }
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const void *info, int argc,
                                                               char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "marks=", 6) == 0) {
            char *p = argv[i] + 6;
            while (*p != '\0' && n_marks < MAX_MARKS) {
                char *end;
                uint64_t value = strtoull(p, &end, 16);
                if (end == p) {
                    break;
                }
                marks[n_marks++] = value & ~(uint64_t)1;
                p = *end == ':' ? end + 1 : end;
            }
        } else if (strncmp(argv[i], "profile=", 8) == 0) {
            char *end;
            profile_start = strtoull(argv[i] + 8, &end, 16) & ~(uint64_t)1;
            profile_end = *end == ':' ? strtoull(end + 1, NULL, 16) : profile_start;
            if (profile_end > profile_start && profile_end - profile_start < (1u << 24)) {
                profile = calloc((profile_end - profile_start) / 2 + 1, sizeof *profile);
            }
        } else if (strncmp(argv[i], "symbols=", 8) == 0) {
            read_symbols(argv[i] + 8);
        } else {
            fprintf(stderr, "insncount: unknown argument %s\n", argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}

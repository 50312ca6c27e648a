/* ana_tool.c: `parley sweep` and `parley report` without the parley front door,
 * for the analysis tests (the sweep test kills and restarts it as a process). */
#include "ana_report.h"
#include "ana_sweep.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "sweep") == 0) return ana_sweep_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "report") == 0) return ana_report_main(argc - 1, argv + 1);
    fprintf(stderr, "usage: ana_tool sweep|report ...\n");
    return 1;
}

/*
 * kefu-sim - the simulator: generates the inputs a kefu cluster meets in
 * the field. One subcommand per job, dispatched from the table below;
 * each subcommand parses its own options (tests/sim/simopt.h).
 */
#include "tests/sim/cmd_boss.h"
#include "tests/sim/cmd_call.h"
#include "tests/sim/cmd_kb.h"
#include "tests/sim/cmd_ledger.h"
#include "tests/sim/cmd_orders.h"
#include "tests/sim/cmd_outbound.h"
#include "tests/sim/cmd_raw.h"
#include "tests/sim/cmd_traffic.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand; returns the exit status */
	const char *summary;
} sim_commands[] = {
	{"boss", cmd_boss_main, "write BOSS batch files (customers, users, payments, changes, bills, CDRs)"},
	{"call", cmd_call_main, "one scripted gateway or agent session with a node (routing tests)"},
	{"kb", cmd_kb_main, "knowledge-base articles in the import format (JSON lines)"},
	{"ledger", cmd_ledger_main, "numbered writes to a cluster, with a ledger of sends and acks"},
	{"orders", cmd_orders_main, "work orders created and dispatched as fast as a node takes them (bench)"},
	{"outbound", cmd_outbound_main, "gateways and agents of an outbound campaign: answers, talks, drops"},
	{"raw", cmd_raw_main, "arbitrary bytes to a node over TLS, and what came back (bad-frame tests)"},
	{"traffic", cmd_traffic_main, "calls and agents against a cluster; the default without a command word"},
};

#define SIM_NCOMMANDS (sizeof(sim_commands) / sizeof(sim_commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: kefu-sim COMMAND [options]\n"
		   "       kefu-sim COMMAND --help\n"
		   "       kefu-sim --cluster FILE [options]   (traffic)\n\ncommands:\n");
	for (size_t i = 0; i < SIM_NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", sim_commands[i].name, sim_commands[i].summary);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < SIM_NCOMMANDS; i++)
		if (strcmp(argv[1], sim_commands[i].name) == 0)
			return sim_commands[i].run(argc - 1, argv + 1);
	/* Options without a command word are the traffic simulator's. */
	if (strncmp(argv[1], "--", 2) == 0)
		return cmd_traffic_main(argc, argv);
	fprintf(stderr, "kefu-sim: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

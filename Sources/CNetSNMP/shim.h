#ifndef RACKAGENT_CNETSNMP_SHIM_H
#define RACKAGENT_CNETSNMP_SHIM_H
/* libc headers first: net-snmp-config.h defines _GNU_SOURCE, which would otherwise give this module a
   different fd_set than the CLibSSH2 module sees. */
#include <sys/types.h>
#include <sys/select.h>
#include <sys/time.h>
#include <netinet/in.h>
/* net-snmp-config.h must precede every other net-snmp header. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#endif

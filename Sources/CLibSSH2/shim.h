#ifndef RACKAGENT_CLIBSSH2_SHIM_H
#define RACKAGENT_CLIBSSH2_SHIM_H
#include <libssh2.h>
#endif

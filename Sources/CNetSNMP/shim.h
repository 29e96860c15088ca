#ifndef RACKAGENT_CNETSNMP_SHIM_H
#define RACKAGENT_CNETSNMP_SHIM_H
/* libc headers first: net-snmp-config.h defines _GNU_SOURCE, which would otherwise give this module a
   different fd_set than the CLibSSH2 module sees. */
#include <sys/types.h>
#include <sys/select.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
/* net-snmp-config.h must precede every other net-snmp header. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/snmpusm.h>

/* PDU commands, ASN.1 types and statuses are composite macros Swift does not import. */
static const int RA_MSG_GET = SNMP_MSG_GET;
static const int RA_MSG_GETNEXT = SNMP_MSG_GETNEXT;
static const int RA_MSG_GETBULK = SNMP_MSG_GETBULK;
static const int RA_MSG_SET = SNMP_MSG_SET;
static const int RA_STAT_SUCCESS = STAT_SUCCESS;
static const int RA_STAT_TIMEOUT = STAT_TIMEOUT;
static const unsigned char RA_ASN_INTEGER = ASN_INTEGER;
static const unsigned char RA_ASN_OCTET_STR = ASN_OCTET_STR;
static const unsigned char RA_ASN_NULL = ASN_NULL;
static const unsigned char RA_ASN_OBJECT_ID = ASN_OBJECT_ID;
static const unsigned char RA_ASN_IPADDRESS = ASN_IPADDRESS;
static const unsigned char RA_ASN_COUNTER = ASN_COUNTER;
static const unsigned char RA_ASN_GAUGE = ASN_GAUGE;
static const unsigned char RA_ASN_TIMETICKS = ASN_TIMETICKS;
static const unsigned char RA_ASN_OPAQUE = ASN_OPAQUE;
static const unsigned char RA_ASN_COUNTER64 = ASN_COUNTER64;
static const unsigned char RA_NOSUCHOBJECT = SNMP_NOSUCHOBJECT;
static const unsigned char RA_NOSUCHINSTANCE = SNMP_NOSUCHINSTANCE;
static const unsigned char RA_ENDOFMIBVIEW = SNMP_ENDOFMIBVIEW;

/* One-time library set-up: no MIB files, no config files, no persistent state, numeric OIDs, quiet. */
static inline void ra_snmp_initialize(void) {
    setenv("MIBS", "", 1);
    setenv("MIBDIRS", "", 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_OID_OUTPUT_FORMAT, NETSNMP_OID_OUTPUT_NUMERIC);
    snmp_disable_log();
    init_snmp("rackagent");
}

/* Session parameters; strings may be NULL. auth: 0 MD5, 1 SHA, 2 SHA-224, 3 SHA-256, 4 SHA-384, 5 SHA-512.
   priv: 0 DES, 1 AES-128, 2 AES-192, 3 AES-256. level: SNMP_SEC_LEVEL_NOAUTH/AUTHNOPRIV/AUTHPRIV (1/2/3). */
typedef struct {
    const char *peer;
    long version;
    const char *community;
    const char *security_name;
    int security_level;
    int auth_algorithm;
    const char *auth_passphrase;
    int priv_algorithm;
    const char *priv_passphrase;
    const char *context;
    long timeout_microseconds;
    int retries;
} ra_session_parameters;

/* Opens a single-session handle (snmp_sess_*); NULL with a message in error on failure. */
static inline void *ra_open_session(const ra_session_parameters *p, char *error, size_t error_size) {
    netsnmp_session session;
    snmp_sess_init(&session);
    session.peername = (char *)p->peer;
    session.version = p->version;
    session.timeout = p->timeout_microseconds;
    session.retries = p->retries;
    if (p->version != SNMP_VERSION_3) {
        session.community = (u_char *)p->community;
        session.community_len = p->community ? strlen(p->community) : 0;
    } else {
        session.securityName = (char *)p->security_name;
        session.securityNameLen = p->security_name ? strlen(p->security_name) : 0;
        session.securityLevel = p->security_level;
        if (p->context) {
            session.contextName = (char *)p->context;
            session.contextNameLen = strlen(p->context);
        }
        if (p->security_level >= SNMP_SEC_LEVEL_AUTHNOPRIV) {
            oid *protocol = usmHMACSHA1AuthProtocol;
            size_t length = OID_LENGTH(usmHMACSHA1AuthProtocol);
            switch (p->auth_algorithm) {
            case 0: protocol = usmHMACMD5AuthProtocol; length = OID_LENGTH(usmHMACMD5AuthProtocol); break;
            case 2: protocol = usmHMAC128SHA224AuthProtocol; length = OID_LENGTH(usmHMAC128SHA224AuthProtocol); break;
            case 3: protocol = usmHMAC192SHA256AuthProtocol; length = OID_LENGTH(usmHMAC192SHA256AuthProtocol); break;
            case 4: protocol = usmHMAC256SHA384AuthProtocol; length = OID_LENGTH(usmHMAC256SHA384AuthProtocol); break;
            case 5: protocol = usmHMAC384SHA512AuthProtocol; length = OID_LENGTH(usmHMAC384SHA512AuthProtocol); break;
            default: break;
            }
            session.securityAuthProto = protocol;
            session.securityAuthProtoLen = length;
            session.securityAuthKeyLen = USM_AUTH_KU_LEN;
            if (!p->auth_passphrase || generate_Ku(protocol, length, (const u_char *)p->auth_passphrase, strlen(p->auth_passphrase),
                                                   session.securityAuthKey, &session.securityAuthKeyLen) != SNMPERR_SUCCESS) {
                snprintf(error, error_size, "cannot derive the authentication key (passphrases need at least 8 characters)");
                return NULL;
            }
        }
        if (p->security_level >= SNMP_SEC_LEVEL_AUTHPRIV) {
            oid *protocol = usmAESPrivProtocol;
            size_t length = OID_LENGTH(usmAESPrivProtocol);
            switch (p->priv_algorithm) {
            case 0: protocol = usmDESPrivProtocol; length = OID_LENGTH(usmDESPrivProtocol); break;
            case 2: protocol = usmAES192PrivProtocol; length = OID_LENGTH(usmAES192PrivProtocol); break;
            case 3: protocol = usmAES256PrivProtocol; length = OID_LENGTH(usmAES256PrivProtocol); break;
            default: break;
            }
            session.securityPrivProto = protocol;
            session.securityPrivProtoLen = length;
            session.securityPrivKeyLen = USM_PRIV_KU_LEN;
            if (!p->priv_passphrase || generate_Ku(session.securityAuthProto, session.securityAuthProtoLen,
                                                   (const u_char *)p->priv_passphrase, strlen(p->priv_passphrase),
                                                   session.securityPrivKey, &session.securityPrivKeyLen) != SNMPERR_SUCCESS) {
                snprintf(error, error_size, "cannot derive the privacy key (passphrases need at least 8 characters)");
                return NULL;
            }
        }
    }
    void *handle = snmp_sess_open(&session);
    if (!handle) {
        int library_error = 0, system_error = 0;
        char *message = NULL;
        snmp_error(&session, &library_error, &system_error, &message);
        snprintf(error, error_size, "%s", message ? message : "cannot open the SNMP session");
        free(message);
    }
    return handle;
}

/* The last error of an open session as text; the caller frees the result. */
static inline char *ra_session_error(void *handle) {
    int library_error = 0, system_error = 0;
    char *message = NULL;
    snmp_sess_error(handle, &library_error, &system_error, &message);
    return message;
}

/* Forgets every SNMPv3 user net-snmp learned from sessions. libnetsnmp keeps USM users (and their keys)
   in a process-global list keyed by user name and engine ID and reuses them for later sessions, so a changed
   or wrong passphrase would otherwise be ignored until restart. */
static inline void ra_forget_usm_users(void) {
    struct usmUser *user;
    while ((user = usm_get_userList()) != NULL) {
        if (usm_remove_user(user) == NULL) break;
        usm_free_user(user);
    }
}

static inline void ra_pdu_set_bulk(netsnmp_pdu *pdu, long non_repeaters, long max_repetitions) {
    pdu->non_repeaters = non_repeaters;
    pdu->max_repetitions = max_repetitions;
}

static inline long ra_pdu_error_status(const netsnmp_pdu *pdu) { return pdu->errstat; }
static inline long ra_pdu_error_index(const netsnmp_pdu *pdu) { return pdu->errindex; }

#endif

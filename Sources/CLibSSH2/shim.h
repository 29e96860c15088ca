#ifndef RACKAGENT_CLIBSSH2_SHIM_H
#define RACKAGENT_CLIBSSH2_SHIM_H
#include <sys/types.h>
#include <sys/select.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <libssh2.h>

/* libssh2's convenience API is function-like macros, which Swift does not import. */
static inline LIBSSH2_SESSION *ra_session_init(void) { return libssh2_session_init(); }
static inline int ra_session_disconnect(LIBSSH2_SESSION *session, const char *description) {
    return libssh2_session_disconnect(session, description);
}
static inline LIBSSH2_CHANNEL *ra_channel_open_session(LIBSSH2_SESSION *session) { return libssh2_channel_open_session(session); }
static inline int ra_channel_exec(LIBSSH2_CHANNEL *channel, const char *command) { return libssh2_channel_exec(channel, command); }
static inline int ra_channel_shell(LIBSSH2_CHANNEL *channel) { return libssh2_channel_shell(channel); }
static inline int ra_channel_request_pty(LIBSSH2_CHANNEL *channel, const char *term, int columns, int rows) {
    return libssh2_channel_request_pty_ex(channel, term, (unsigned int)strlen(term), NULL, 0, columns, rows, 0, 0);
}
static inline ssize_t ra_channel_read(LIBSSH2_CHANNEL *channel, char *buffer, size_t length) { return libssh2_channel_read(channel, buffer, length); }
static inline ssize_t ra_channel_read_stderr(LIBSSH2_CHANNEL *channel, char *buffer, size_t length) {
    return libssh2_channel_read_stderr(channel, buffer, length);
}
static inline ssize_t ra_channel_write(LIBSSH2_CHANNEL *channel, const char *buffer, size_t length) {
    return libssh2_channel_write(channel, buffer, length);
}
static inline int ra_userauth_password(LIBSSH2_SESSION *session, const char *user, const char *password) {
    return libssh2_userauth_password(session, user, password);
}

/* Keyboard-interactive: every prompt is answered with the password kept in the session's abstract pointer
   (switches that allow only keyboard-interactive ask for the password that way). */
static void ra_kbdint_answer(const char *name, int name_len, const char *instruction, int instruction_len, int num_prompts,
                             const LIBSSH2_USERAUTH_KBDINT_PROMPT *prompts, LIBSSH2_USERAUTH_KBDINT_RESPONSE *responses,
                             void **abstract) {
    (void)name; (void)name_len; (void)instruction; (void)instruction_len; (void)prompts;
    const char *password = abstract && *abstract ? (const char *)*abstract : "";
    for (int index = 0; index < num_prompts; index++) {
        responses[index].text = strdup(password);
        responses[index].length = (unsigned int)strlen(password);
    }
}
static inline int ra_userauth_keyboard_interactive(LIBSSH2_SESSION *session, const char *user, const char *password) {
    void **abstract = libssh2_session_abstract(session);
    *abstract = (void *)password;
    return libssh2_userauth_keyboard_interactive_ex(session, user, (unsigned int)strlen(user), ra_kbdint_answer);
}
#endif

#include <git2.h>

/* Option-struct versions are macros Swift cannot see; these initialise the structs with them. */
static inline int cchost_git_clone_options(git_clone_options *o) { return git_clone_options_init(o, GIT_CLONE_OPTIONS_VERSION); }
static inline int cchost_git_fetch_options(git_fetch_options *o) { return git_fetch_options_init(o, GIT_FETCH_OPTIONS_VERSION); }
static inline int cchost_git_push_options(git_push_options *o) { return git_push_options_init(o, GIT_PUSH_OPTIONS_VERSION); }
static inline int cchost_git_checkout_options(git_checkout_options *o) { return git_checkout_options_init(o, GIT_CHECKOUT_OPTIONS_VERSION); }
static inline int cchost_git_remote_create_options(git_remote_create_options *o) { return git_remote_create_options_init(o, GIT_REMOTE_CREATE_OPTIONS_VERSION); }

/* Credentials for ssh remotes: the running ssh-agent, as `git` would use it. Other kinds pass. */
static inline int cchost_git_credentials(git_credential **out, const char *url, const char *user,
                                         unsigned int allowed, void *payload) {
    (void)url; (void)payload;
    if (allowed & GIT_CREDENTIAL_SSH_KEY) return git_credential_ssh_key_from_agent(out, user ? user : "git");
    return GIT_PASSTHROUGH;
}

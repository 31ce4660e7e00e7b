#!/usr/bin/perl
# One idempotent pass through RT's Perl API (REST 2.0 in RT 5.0.3 has no endpoints for rights,
# scrips or auth tokens): rights, users agent1 + botpress, auth tokens, the signed webhook Scrip.
# Usage (from rt.sh, with RT_SITE_CONFIG_DIR set):
#   perl setup.pl --state DIR --hook URL --secret SECRET
# Prints one line of JSON: {"apiToken":"…","agentToken":"…"}; progress goes to stderr.
use strict;
use warnings;
use lib '/usr/share/request-tracker5/lib';
use Getopt::Long;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my ($state, $hook, $secret) = ('', '', '');
GetOptions('state=s' => \$state, 'hook=s' => \$hook, 'secret=s' => \$secret) or die "bad options\n";
die "--state is required\n" unless length $state;
my $here = dirname(abs_path($0));

use RT -init;
use RT::Authen::Token;
my $SYS = RT->SystemUser;

sub note { print STDERR "[setup] @_\n" }
sub must { my ($ok, $msg) = @_; die "$msg\n" unless $ok; return $ok }

# ---- rights ------------------------------------------------------------------------------------
my $queue = RT::Queue->new($SYS);
$queue->Load('General');
die "queue General not found\n" unless $queue->id;

sub grant {
    my ($principal, $object, @rights) = @_;
    for my $right (@rights) {
        my ($ok, $msg) = $principal->GrantRight(Right => $right, Object => $object);
        next if $ok || $msg =~ /already has/i;
        die "GrantRight $right: $msg\n";
    }
}

my $everyone = RT::Group->new($SYS);
$everyone->LoadSystemInternalGroup('Everyone');
# End users may see the queue and open tickets themselves (self-service); replying is a
# requestor-role right only.
grant($everyone->PrincipalObj, RT->System, qw(SeeQueue CreateTicket));

my $requestor = RT::Group->new($SYS);
$requestor->LoadRoleGroup(Object => RT->System, Name => 'Requestor');
die "global Requestor role group not found\n" unless $requestor->id;
grant($requestor->PrincipalObj, RT->System, qw(ShowTicket ReplyToTicket));

# ---- users -------------------------------------------------------------------------------------
sub ensure_user {
    my (%a) = @_;
    my $u = RT::User->new($SYS);
    $u->Load($a{Name});
    if (!$u->id) {
        my ($id, $msg) = $u->Create(%a);
        die "create user $a{Name}: $msg\n" unless $id;
        note "created user $a{Name} (id $id)";
    } else {
        $u->SetDisabled(0) if $u->Disabled;
        $u->SetPrivileged(1) if $a{Privileged} && !$u->Privileged;
        $u->SetRealName($a{RealName}) if ($u->RealName // '') ne $a{RealName};
        $u->SetEmailAddress($a{EmailAddress}) if ($u->EmailAddress // '') ne $a{EmailAddress};
    }
    return $u;
}

my $agent = ensure_user(Name => 'agent1', RealName => 'Alice Agent', EmailAddress => 'agent1@helpdesk.e2e.local',
                        Privileged => 1, Password => 'agent1-password');
my $api   = ensure_user(Name => 'botpress', RealName => 'Botpress HITL', EmailAddress => 'botpress@e2e.local',
                        Privileged => 1, Password => 'botpress-password');

grant($agent->PrincipalObj, $queue, qw(SeeQueue ShowTicket ShowTicketComments CreateTicket ReplyToTicket
    CommentOnTicket ModifyTicket OwnTicket TakeTicket StealTicket Watch WatchAsAdminCc ShowOutgoingEmail));
grant($api->PrincipalObj, RT->System, qw(AdminUsers ShowUserHistory));
grant($api->PrincipalObj, $queue, qw(SeeQueue ShowTicket ShowTicketComments CreateTicket ReplyToTicket
    CommentOnTicket ModifyTicket Watch WatchAsAdminCc ShowOutgoingEmail));

# ---- tokens ------------------------------------------------------------------------------------
sub token_for {
    my ($u, $file) = @_;
    if (open my $fh, '<', $file) {
        chomp(my $t = <$fh> // '');
        close $fh;
        if (length $t) {
            my ($cu) = RT::Authen::Token->UserForAuthString($t);
            return $t if $cu && $cu->id == $u->id;
        }
    }
    my ($id, $msg, $auth) = RT::AuthToken->new($SYS)->Create(Owner => $u->id, Description => 'universal-hitl e2e');
    die "token for " . $u->Name . ": $msg\n" unless $id;
    open my $out, '>', $file or die "$file: $!\n";
    chmod 0600, $file;
    print $out "$auth\n";
    close $out;
    note "created token for " . $u->Name;
    return $auth;
}
my $api_token   = token_for($api,   "$state/token-botpress");
my $agent_token = token_for($agent, "$state/token-agent1");

# ---- webhook Scrip -----------------------------------------------------------------------------
sub slurp { my $f = shift; open my $fh, '<', $f or die "$f: $!\n"; local $/; my $s = <$fh>; close $fh; $s }
sub perl_quote { my $s = shift; $s =~ s/([\\'])/\\$1/g; "'$s'" }

my $description = 'universal-hitl e2e webhook (signed JSON POST)';
my $condition = slurp("$here/webhook-condition.pl");
my $commit = "my \$WEBHOOK_URL = " . perl_quote($hook) . ";\n"
           . "my \$WEBHOOK_SECRET = " . perl_quote($secret) . ";\n"
           . slurp("$here/webhook-commit.pl");

my $scrips = RT::Scrips->new($SYS);
$scrips->Limit(FIELD => 'Description', VALUE => $description);
my $scrip = $scrips->First;
if (!$scrip) {
    $scrip = RT::Scrip->new($SYS);
    my ($id, $msg) = $scrip->Create(
        Description            => $description,
        Queue                  => 0,
        Stage                  => 'TransactionCreate',
        ScripCondition         => 'User Defined',
        ScripAction            => 'User Defined',
        Template               => 'Blank',
        CustomIsApplicableCode => $condition,
        CustomPrepareCode      => 'return 1;',
        CustomCommitCode       => $commit,
        ObjectSortOrder        => -1,
    );
    die "create scrip: $msg\n" unless $id;
    note "created webhook scrip $id";
} else {
    for ([CustomIsApplicableCode => $condition], [CustomCommitCode => $commit], [CustomPrepareCode => 'return 1;']) {
        my ($f, $v) = @$_;
        next if ($scrip->$f // '') eq $v;
        my $setter = "Set$f";
        my ($ok, $msg) = $scrip->$setter($v);
        die "update scrip $f: $msg\n" unless $ok;
        note "updated webhook scrip $f";
    }
    $scrip->SetDisabled(0) if $scrip->Disabled;
}
# Run before the stock scrips, so a nested auto-open Status transaction is posted after its Correspond.
my $os = RT::ObjectScrip->new($SYS);
$os->LoadByCols(Scrip => $scrip->id, ObjectId => 0, Stage => 'TransactionCreate');
die "webhook scrip is not applied globally\n" unless $os->id;
$os->SetSortOrder(-1) if $os->SortOrder != -1;

print qq({"apiToken":"$api_token","agentToken":"$agent_token"}\n);

# Universal-HITL e2e webhook Scrip: commit code (evaluated by RT, $self = RT::Action).
# rt.sh/setup.pl prepend two lines defining $WEBHOOK_URL and $WEBHOOK_SECRET.
# POSTs one signed JSON document per transaction, after RT commits it; never fails the RT operation.
eval {
    return 1 unless defined $WEBHOOK_URL && length $WEBHOOK_URL;
    require HTTP::Tiny; require JSON; require Digest::SHA;
    my $txn    = $self->TransactionObj;
    my $ticket = $self->TicketObj;
    my $type   = $txn->Type  // '';
    my $field  = $txn->Field // '';

    my $user = sub {
        my $u = shift;
        return undef unless $u && $u->id;
        return {
            id         => 0 + $u->id,
            name       => $u->Name,
            realname   => $u->RealName,
            email      => $u->EmailAddress,
            privileged => ($u->Privileged ? JSON::true() : JSON::false()),
        };
    };
    my $load_user = sub {
        my $id = shift;
        return undef unless defined $id && length $id;
        my $u = RT::User->new(RT->SystemUser);
        $u->Load($id);
        return $user->($u);
    };

    my $event = $type eq 'Create'     ? 'create'
              : $type eq 'Correspond' ? 'correspond'
              : $type eq 'Comment'    ? 'comment'
              : $field eq 'Owner'     ? 'owner'
              :                         'status';

    my ($content, $content_type);
    if ($event eq 'create' || $event eq 'correspond' || $event eq 'comment') {
        if (my $obj = $txn->ContentObj(Type => 'text/plain')) {
            $content_type = $obj->ContentType;
            $content = $txn->Content(Type => 'text/plain');
        }
    }

    # The transaction's files: attachments with a file name (not the message body parts), so an agent's
    # attachments can be fetched from RT's web UI (/Ticket/Attachment/<transaction>/<attachment>/<name>).
    my @attachments;
    if ($event eq 'create' || $event eq 'correspond' || $event eq 'comment') {
        my $as_system = RT::Transaction->new(RT->SystemUser);
        $as_system->Load($txn->id);
        my $list = $as_system->Attachments;
        while (my $a = $list->Next) {
            next unless defined $a->Filename && length $a->Filename;
            push @attachments, {
                id           => 0 + $a->id,
                filename     => $a->Filename,
                content_type => $a->ContentType,
                size         => 0 + ($a->ContentLength // 0),
            };
        }
    }

    my ($old, $new);
    if ($event eq 'owner') {
        ($old, $new) = ($load_user->($txn->OldValue), $load_user->($txn->NewValue));
    } elsif ($event eq 'status') {
        ($old, $new) = ($txn->OldValue, $txn->NewValue);
    }

    my @requestors;
    my $members = $ticket->Requestors->UserMembersObj(Recursively => 0);
    while (my $r = $members->Next) { push @requestors, $user->($r) }

    my $owner = RT::User->new(RT->SystemUser);
    $owner->Load($ticket->Owner);

    my $doc = {
        event  => $event,
        rt_url => RT->Config->Get('WebURL'),
        ticket => {
            id         => 0 + $ticket->id,
            subject    => $ticket->Subject,
            status     => $ticket->Status,
            queue      => $ticket->QueueObj->Name,
            owner      => $user->($owner),
            requestors => \@requestors,
        },
        transaction => {
            id           => 0 + $txn->id,
            type         => $type,
            field        => (length $field ? $field : undef),
            created      => $txn->CreatedObj->W3CDTF(Timezone => 'UTC'),
            content      => $content,
            content_type => $content_type,
            attachments  => \@attachments,
            old          => $old,
            new          => $new,
        },
        actor => $load_user->($txn->Creator),
    };

    my $body = JSON->new->utf8->canonical->encode($doc);
    my $ts   = time();
    my %headers = (
        'Content-Type'  => 'application/json',
        'X-RT-Event'    => $event,
        'X-RT-Delivery' => $txn->id,
        'X-RT-Timestamp' => $ts,
    );
    $headers{'X-RT-Signature'} = 'sha256=' . Digest::SHA::hmac_sha256_hex("$ts.$body", $WEBHOOK_SECRET)
        if defined $WEBHOOK_SECRET && length $WEBHOOK_SECRET;

    my ($url, $txn_id) = ($WEBHOOK_URL, $txn->id);
    my $deliver = sub {
        my $res = HTTP::Tiny->new(timeout => 3, agent => 'RT-universal-hitl-e2e/1')
            ->post($url, { headers => \%headers, content => $body });
        RT->Logger->warning("webhook: POST $url for transaction $txn_id failed: $res->{status} $res->{reason}")
            unless $res->{success};
    };

    # Scrips run inside RT's database transaction (also TransactionBatch ones, and the web UI wraps whole
    # updates in one): until it commits, nothing of this transaction (e.g. its attachments) can be read by
    # another connection, so a receiver that fetches a file back from RT during the delivery would wait for
    # or miss it. The POST is therefore queued and made right after the outermost COMMIT (still inside the
    # same request, so the order of deliveries is kept), and dropped on a rollback. The hook on
    # DBIx::SearchBuilder::Handle::EndTransaction is installed once per RT process.
    unless ($UniversalHitl::Webhook::hooked) {
        $UniversalHitl::Webhook::hooked = 1;
        my $end = \&DBIx::SearchBuilder::Handle::EndTransaction;
        no warnings 'redefine';
        *DBIx::SearchBuilder::Handle::EndTransaction = sub {
            my ($handle, %args) = @_;
            my @ret = $end->(@_);
            if (@UniversalHitl::Webhook::pending && !$handle->TransactionDepth) {
                my @due = splice @UniversalHitl::Webhook::pending;
                if (lc($args{Action} // 'commit') eq 'commit') {
                    for my $send (@due) {
                        eval { $send->(); 1 } or RT->Logger->warning("webhook: error: $@");
                    }
                }
            }
            return wantarray ? @ret : $ret[0];
        };
    }
    if ($RT::Handle->TransactionDepth) { push @UniversalHitl::Webhook::pending, $deliver }
    else { $deliver->() }
    1;
} or do {
    RT->Logger->warning("webhook: error: $@") if $@;
};
1;

# Universal-HITL e2e webhook Scrip: is-applicable code (evaluated by RT, $self = RT::Condition).
my $txn   = $self->TransactionObj;
my $type  = $txn->Type  // '';
my $field = $txn->Field // '';
return 1 if $type eq 'Create' || $type eq 'Correspond' || $type eq 'Comment';
return 1 if $field eq 'Owner' && $type ne 'SetWatcher';   # Set, Take, Give, Steal, Untake
return 1 if $type eq 'Status' || ($type eq 'Set' && $field eq 'Status');
return 0;

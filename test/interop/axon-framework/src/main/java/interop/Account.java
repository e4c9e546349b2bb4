package interop;

import interop.Api.AccountOpened;
import interop.Api.Deposit;
import interop.Api.Deposited;
import interop.Api.OpenAccount;
import interop.Api.Overdraw;
import org.axonframework.commandhandling.CommandExecutionException;
import org.axonframework.commandhandling.CommandHandler;
import org.axonframework.eventsourcing.EventSourcingHandler;
import org.axonframework.modelling.command.AggregateIdentifier;

import static org.axonframework.modelling.command.AggregateLifecycle.apply;

/** An event-sourced aggregate (public fields: Jackson serializes it into snapshots). */
public class Account {
    @AggregateIdentifier
    public String id;
    public long balance;

    public Account() {
    }

    @CommandHandler
    public Account(OpenAccount command) {
        apply(new AccountOpened(command.id()));
    }

    @CommandHandler
    public long handle(Deposit command) {
        apply(new Deposited(id, command.amount(), balance + command.amount()));
        return balance;
    }

    @CommandHandler
    public void handle(Overdraw command) {
        throw new CommandExecutionException("Overdraw refused for " + id, null, "insufficient-funds:" + balance);
    }

    @EventSourcingHandler
    public void on(AccountOpened event) {
        id = event.id();
    }

    @EventSourcingHandler
    public void on(Deposited event) {
        balance = event.balance();
    }
}

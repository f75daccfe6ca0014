public class Greeter {
    private final Clock clock;

    public Greeter(Clock clock) { this.clock = clock; }

    public String greet() {
@        @greet@@
    }
}

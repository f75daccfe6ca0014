// Übung 1: grüße die Person, deren Name gegeben ist.
public class Hello {
    static String greet(String name) {
@        @greet@@
    }

    public static void main(String[] args) {
        System.out.println(greet(args[0]));
    }
}

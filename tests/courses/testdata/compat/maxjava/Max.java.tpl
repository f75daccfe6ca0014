public class Max {
    public static int max(int[] t) {
@        @body@@
    }
}
